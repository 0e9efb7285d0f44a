# These files are checked by type checkers (run.py), and the user project runs on its own:
# none of it is part of this repository's own test session.
collect_ignore_glob = ["*.py", "user_project/*"]
