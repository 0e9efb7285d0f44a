"""Sign up, create an organization and look around as the new user.

Run alone: python examples/quickstart.py  (starts a local emulator for itself)
"""

from __future__ import annotations

import uuid

from fabric_platform import FabricClient

try:
    from _common import run_standalone, title
except ImportError:  # imported as examples.quickstart
    from examples._common import run_standalone, title


def main(fabric: FabricClient) -> FabricClient:
    """Returns a client signed in as a new user, scoped to the user's new organization."""
    title("health")
    print(fabric.health_check())

    title("sign up and log in")
    user = FabricClient(base_url=fabric.base_url)  # no credentials yet
    email = f"ada+{uuid.uuid4().hex[:8]}@example.com"
    tokens = user.signup(email, "correct horse battery staple")
    print("signed up:", tokens["user"]["email"], "| token type:", tokens["token_type"])
    user.login(email, "correct horse battery staple")  # stores the new token pair
    me = user.get_me()
    print("me:", me["email"], "authenticated:", me["authenticated"])

    title("an organization of one's own")
    org = user.create_organization(slug=f"acme-{uuid.uuid4().hex[:6]}", name="Acme Corp")
    print("created", org["slug"], org["id"])
    acme = user.with_options(organization_id=org["id"])  # same connection pool and tokens
    print("my organizations:", [o["slug"] for o in acme.get_my_organizations()])
    team = acme.create_team(org["id"], slug="engineering", name="Engineering")
    print("team:", team["name"], "| teams:", len(acme.list_org_teams(org["id"])))
    key = acme.create_api_key("ci-pipeline", org["id"], scopes=["workflow.run"])
    print("API key created:", key["prefix"] + "…", "(the full key is shown only once)")
    print("can edit workflows:", acme.check_permission("workflow.edit", resource="workflow:all"))
    return acme


if __name__ == "__main__":
    run_standalone(main)
