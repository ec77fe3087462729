"""irctest controller for DistChat's IRC front end (docs/IRC.md "Conformance"),
modelled on irctest's controllers/ergo.py.

Every test gets a fresh one-server DistChat cluster in a temporary directory
(its own servers.txt, database and UDP ports), started with an IRC listener on
the port irctest chose: ``server.ts --irc HOST:PORT`` (``--irc-tls`` with a
certificate irctest made, for TLS tests). Accounts are registered over the
DistChat client protocol (distchat_accounts.py: ``login``, ``register`` with a
SCRAM verifier, ``logout``), so no services package is needed: SASL logs in to
the same accounts terminal and web users have.

Run it with ``npm run irctest`` (scripts/irctest.ts), which puts this folder
on PYTHONPATH and passes ``--controller distchat_controller``. The server runs
under the Node of node_modules (``DISTCHAT_RUNTIME=deno`` runs it under Deno).
"""

import atexit
import base64
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import List, Optional, Set, Type

from irctest import patma
from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.cases import BaseServerTestCase
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

import distchat_accounts

#: The IRC operator irctest's tests use (OPER operuser operpassword).
OPER_NAME, OPER_PASSWORD = "operuser", "operpassword"

#: The repository root: this file is ROOT/irctest/distchat_controller.py.
ROOT = Path(__file__).resolve().parent.parent


#: Every process this module started. irctest skips tearDown when a test's setUp raises after the
#: server started (a SkipTest there), which would leave its servers running: each new test stops
#: those of earlier tests (tests run one at a time), and so does the end of the run.
_STARTED: List[subprocess.Popen] = []


def _stop_all() -> None:
    for proc in _STARTED:
        if proc.poll() is None:
            try:
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                proc.kill()
            proc.wait(10)
    _STARTED.clear()


atexit.register(_stop_all)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _script_command(script: str) -> list:
    """How to run one of the repository's TypeScript entry scripts."""
    runtime = os.environ.get("DISTCHAT_RUNTIME", "node")
    if runtime == "deno":
        return [str(ROOT / "node_modules" / ".bin" / "deno"), "run", "-A", str(ROOT / script)]
    return [str(ROOT / "node_modules" / "node" / "bin" / "node"), str(ROOT / script)]


class DistChatController(BaseServerController, DirectoryBasedController):
    software_name = "DistChat"
    _port_wait_interval = 0.05
    # Other users' lines reach a connection from its room's stream after the commit that stored
    # them (docs/IRC.md), a moment after the sender's answer: let irctest's PING/PONG
    # synchronisation wait that moment, as it does for Sable.
    sync_sleep_time = 0.05
    supported_sasl_mechanisms: Set[str] = {"PLAIN", "SCRAM-SHA-256"}
    supports_sts = False
    nickserv = "NickServ"  # none: accounts are registered by registerUser below

    # lib/irc/isupport.ts CAPS, as far as irctest's enum names them
    capabilities = frozenset(
        (
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
        )
    )

    optional_behaviors = frozenset(
        (
            OptionalBehaviors.CAP_REQ_MINUS,
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_PRIVMSG,
        )
    )

    # lib/irc/isupport.ts isupportTokens
    isupport = {
        "CASEMAPPING": "ascii",
        "CHANTYPES": "#",
        "PREFIX": "(ov)@+",
        "TARGMAX": patma.ANYSTR,
        "UTF8ONLY": None,
    }

    def create_config(self) -> None:
        super().create_config()
        with self.open_file("servers.txt"):
            pass
        # The IRC operator irctest's tests OPER as (its ergo.py: operuser / operpassword), in
        # irc-opers.txt beside servers.txt (lib/config/irc_opers.ts): the password's SCRAM-SHA-256
        # verifier, as `npm run keygen -- --irc-oper operuser` prints it.
        salt = os.urandom(16)
        stored, server = distchat_accounts.verifier(OPER_PASSWORD, salt)
        salt64 = base64.b64encode(salt).decode()
        with self.open_file("irc-opers.txt", "w") as fd:
            fd.write(f"{OPER_NAME} SCRAM-SHA-256${distchat_accounts.ITERATIONS}:{salt64}${stored}:{server}\n")

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str] = None,
        websocket_port: Optional[int] = None,
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if password is not None:
            # PASS is an account's password on DistChat (docs/IRC.md), not a server password.
            raise NotImplementedByController("server password")
        assert self.proc is None
        _stop_all()
        self.create_config()
        assert self.directory
        self.hostname = hostname
        self.port = port
        # irctest picks "0.0.0.0" (any interface); listen on loopback only: clients connect to 0.0.0.0,
        # which Linux delivers to 127.0.0.1.
        bind = "127.0.0.1" if hostname in ("0.0.0.0", "") else hostname
        self.client_port = _free_udp_port()
        peer_port = _free_udp_port()
        with self.open_file("servers.txt", "w") as fd:
            fd.write(f"a 127.0.0.1:{self.client_port} 127.0.0.1:{peer_port}\n")

        args = [
            *_script_command("server.ts"),
            "--id", "a",
            "--servers", str(self.directory / "servers.txt"),
            "--db", str(self.directory / "a.sqlite"),
            "--min-free-mb", "0",
            # irctest opens many connections from 127.0.0.1 in a short time
            "--quota", "logins-per-ip-minute=0",
            # the name irctest's tests expect in sources and numerics
            "--irc-name", "My.Little.Server",
            # and the description its tests expect (LINKS)
            "--irc-info", "test server",
            # its servers.txt has no key=, and accounts are registered over plaintext UDP (distchat_accounts.py)
            "--allow-plaintext",
        ]
        if ssl:
            self.gen_ssl()
            args += ["--irc-tls", f"{bind}:{port}", "--tls-cert", str(self.pem_path), "--tls-key", str(self.key_path)]
        else:
            args += ["--irc", f"{bind}:{port}"]

        prefix = []
        if faketime and shutil.which("faketime"):
            prefix = ["faketime", "-f", faketime]
            self.faketime_enabled = True

        self.proc = self.execute([*prefix, *args])
        _STARTED.append(self.proc)

    def wait_for_services(self) -> None:
        # Accounts live in DistChat itself: nothing else to start.
        pass

    def registerUser(
        self,
        case: BaseServerTestCase,
        username: str,
        password: Optional[str] = None,
    ) -> None:
        assert password
        self.wait_for_port()
        distchat_accounts.register(("127.0.0.1", self.client_port), username, password)


def get_irctest_controller_class() -> Type[DistChatController]:
    return DistChatController
