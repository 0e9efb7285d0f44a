"""``fabric completion SHELL``: the completion script, from Click's own completion support.

eval "$(fabric completion bash)"            # ~/.bashrc
eval "$(fabric completion zsh)"             # ~/.zshrc
fabric completion fish > ~/.config/fish/completions/fabric.fish
"""

from __future__ import annotations

import click

__all__ = ["completion"]


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish)."""
    from click.shell_completion import get_completion_class

    from fabric_platform.cli._app import cli

    cls = get_completion_class(shell)
    assert cls is not None  # the choice only offers shells Click supports
    click.echo(cls(cli, {}, "fabric", "_FABRIC_COMPLETE").source())
