"""Registers DistChat accounts over the client protocol (docs/PROTOCOL.md,
"Accounts"): ``login``, ``register`` with a SCRAM-SHA-256 verifier computed
here (the password never leaves this process), ``logout``. Used by the irctest
controller (distchat_controller.py) and runnable alone:

    python3 irctest/distchat_accounts.py 127.0.0.1:7001 alice 'correct horse'
"""

import base64
import hashlib
import hmac
import os
import socket
import sys
from typing import List, Tuple

#: Fewest PBKDF2 rounds a DistChat server takes (lib/accounts/scram.ts MIN_ITERATIONS):
#: tests use them, so registering is quick.
ITERATIONS = 4096


class DistChatError(Exception):
    """A DistChat request failed: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def verifier(password: str, salt: bytes, iterations: int = ITERATIONS) -> Tuple[str, str]:
    """StoredKey and ServerKey (base64) of RFC 5802 for ``password``."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, 32)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return base64.b64encode(stored_key).decode(), base64.b64encode(server_key).decode()


def request(addr: Tuple[str, int], lines: List[str], timeout: float = 5.0) -> List[str]:
    """Sends one request datagram and returns the reply's lines; resends the
    same datagram (same tag) when no reply comes, as docs/PROTOCOL.md asks."""
    datagram = ("\n".join(lines) + "\n").encode("utf-8")
    tag = lines[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.4)
        waited = 0.0
        while waited < timeout:
            s.sendto(datagram, addr)
            try:
                data, _ = s.recvfrom(8192)
            except socket.timeout:
                waited += 0.4
                continue
            reply = data.decode("utf-8").split("\n")[:-1]
            if len(reply) >= 2 and reply[1] == tag:
                if reply[0] == "error":
                    raise DistChatError(reply[2], reply[3] if len(reply) > 3 else "")
                return reply
    raise TimeoutError(f"no answer from DistChat at {addr[0]}:{addr[1]} to {lines[0]}")


def register(addr: Tuple[str, int], name: str, password: str) -> None:
    """Makes ``name`` a registered account with ``password``; its session ends."""
    nonce = base64.b32encode(os.urandom(5)).decode().rstrip("=")
    reply = request(addr, ["login", f"L{nonce}", name])
    token = reply[4]
    salt = os.urandom(16)
    stored, server = verifier(password, salt)
    request(addr, ["register", f"R{nonce}", token, base64.b64encode(salt).decode(), str(ITERATIONS), stored, server, "-"])
    request(addr, ["logout", f"O{nonce}", token])


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: distchat_accounts.py HOST:PORT NAME PASSWORD")
    host, port = sys.argv[1].rsplit(":", 1)
    register((host, int(port)), sys.argv[2], sys.argv[3])
    print(f"registered {sys.argv[2]}")
