"""`python -m local.token [email]`: sign that person in through the running local system's user pool
and print their ID token, and nothing else.

The pool is found at `GET /_local/user-pool` on the API's PORT (default 3000); the sign-in is
`AdminInitiateAuth` (ADMIN_USER_PASSWORD_AUTH) on moto, the call an operator makes against a deployed
pool. The password is PASSWORD, or the demo users' password (also what the local accept pages give an
invitee for now).

curl -H "Authorization: Bearer $(python -m local.token)" http://127.0.0.1:3000/me
"""

from __future__ import annotations

import os
import sys

from local.demo_data import DEFAULT_TOKEN_USER
from local.user_pool import DEMO_PASSWORD, SignInRefused, running_pool


def main(argv: list[str], environment: dict[str, str] | None = None) -> int:
    env = os.environ if environment is None else environment
    if len(argv) > 1 or (argv and "@" not in argv[0]):
        print("usage: python -m local.token [email]", file=sys.stderr)
        return 2
    port = int(env.get("PORT") or "3000")
    try:
        pool = running_pool(port)
    except OSError as error:
        print(f"No local system answers on port {port} ({error}): start it with `make run`.", file=sys.stderr)
        return 1
    try:
        print(pool.sign_in(argv[0] if argv else DEFAULT_TOKEN_USER, env.get("PASSWORD") or DEMO_PASSWORD))
    except SignInRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
