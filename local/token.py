"""`python -m local.token [email]`: print an ID token for that person, and nothing else.

Demo users keep their seeded identity; any other email gets a stable identity of its own
(the local stand-in for signing up), e.g. an invited customer after accepting.

curl -H "Authorization: Bearer $(python -m local.token)" http://127.0.0.1:3000/me
"""

from __future__ import annotations

import sys

from local.demo_data import DEFAULT_TOKEN_USER, local_identity
from local.issuer import LocalIssuer


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and "@" not in argv[0]):
        print("usage: python -m local.token [email]", file=sys.stderr)
        return 2
    user = local_identity(argv[0] if argv else DEFAULT_TOKEN_USER)
    print(LocalIssuer.load_or_create().id_token(sub=user.sub, email=user.email, name=user.name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
