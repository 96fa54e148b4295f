"""moto as the whole AWS account, in this process, reachable over HTTP on 127.0.0.1.

The handlers build ordinary boto3 clients: `AWS_ENDPOINT_URL` points every one of them at
the moto server, and fake credentials make sure nothing can reach a real account.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from local import moto_patches

REGION = "eu-west-2"
ACCOUNT_ID = DEFAULT_ACCOUNT_ID
HOST = "127.0.0.1"

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass
class FakeAws:
    server: ThreadedMotoServer
    endpoint_url: str

    def stop(self) -> None:
        self.server.stop()


def start_fake_aws(port: int = 0) -> FakeAws:
    """Start moto on `port` (0: any free port) and point this process's AWS SDK at it."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)
    # moto checks authenticator codes (VerifySoftwareToken, the SOFTWARE_TOKEN_MFA challenge) only when told.
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
    # moto's werkzeug server would log every SDK call (the queue pumps poll all the time).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_patches.install()  # DynamoDB's requests atomic, its transactions and Queries sized by their items
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{bound_port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    return FakeAws(server=server, endpoint_url=endpoint_url)
