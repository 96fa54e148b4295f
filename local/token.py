"""`python -m local.token [email]`: print an ID token for a demo user, and nothing else.

curl -H "Authorization: Bearer $(python -m local.token)" http://127.0.0.1:3000/me
"""

from __future__ import annotations

import sys

from local.demo_data import DEFAULT_TOKEN_USER, DEMO_USERS
from local.issuer import LocalIssuer


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python -m local.token [email]", file=sys.stderr)
        return 2
    email = argv[0] if argv else DEFAULT_TOKEN_USER
    user = next((u for u in DEMO_USERS if u.email.lower() == email.lower()), None)
    if user is None:
        known = ", ".join(u.email for u in DEMO_USERS)
        print(f"No demo user with email {email!r}. Demo users: {known}", file=sys.stderr)
        return 2
    print(LocalIssuer.load_or_create().id_token(sub=user.sub, email=user.email, name=user.name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
