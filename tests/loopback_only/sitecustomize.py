"""Keeps a Python process on this machine: connections only to loopback, name look-ups only of local names.

The tests put this folder first on PYTHONPATH, so every Python process they start (load runners, the CLI,
notebook kernels, olah, the benchmark's contenders) imports it at start-up, as Python imports any
``sitecustomize``; the test process installs it from conftest's ``pytest_configure`` (``helpers.load_guard``).
Standard library only, so importing it is cheap.

What is refused: ``connect``/``connect_ex``/``sendto`` of an IPv4 or IPv6 socket to an address outside
127.0.0.0/8 and ::1, and ``getaddrinfo``/``gethostbyname``/``gethostbyname_ex`` of any name but ``localhost``,
this machine's own name and loopback addresses. A refused call raises (``socket.gaierror`` for a look-up,
``OutsideNetworkError``, a ``ConnectionRefusedError``, for a connection or datagram) *and* is written down:
libraries swallow errors of optional requests (download counts, telemetry), so the test suite fails a test (or,
for what was written outside every test, the run) by what is written down, not by what was raised. Where: a line
in the file ``LOOPBACK_GUARD_LOG`` names (when set), and ``violations`` in this process.

Code in C or Rust (pyzmq, hf_xet) bypasses Python's socket module and is not covered.
"""

import ipaddress
import os
import socket
import sys

#: Every refused call of this process: ("connect" | "look-up", target, the caller's frame).
violations = []

#: The functions the guard stands in front of, as they were before it (tests replace these to prove the
#: guard refuses without ever reaching the network).
real = {}


class OutsideNetworkError(ConnectionRefusedError):
    """A test tried to reach something that is not on this machine."""


def _own_names():
    names = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
    try:
        names.add(socket.gethostname().lower())
    except OSError:
        pass
    return names


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback or bool(getattr(address, "ipv4_mapped", None) and address.ipv4_mapped.is_loopback)


def _local_name(host) -> bool:
    if host is None:  # getaddrinfo(None, port): the wildcard or loopback address, nothing is looked up
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).lower().rstrip(".")
    return name in _OWN_NAMES or name.endswith(".localhost") or _is_loopback(name)


def _record(kind: str, target: str) -> str:
    import traceback  # only when something is refused: start-up stays cheap

    caller = next(
        (f"{frame.filename}:{frame.lineno}" for frame in reversed(traceback.extract_stack()[:-2])),
        "?",
    )
    message = f"loopback guard: {kind} of {target} refused (pid {os.getpid()}, {caller}); tests stay on 127.0.0.1"
    violations.append((kind, target, caller))
    log = os.environ.get("LOOPBACK_GUARD_LOG")
    if log:
        try:
            with open(log, "a", encoding="utf-8") as f:
                f.write(message + "\n")
        except OSError:
            pass
    print(message, file=sys.stderr)
    return message


def _address_allowed(sock, address) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return True  # Unix sockets and the like never leave the machine
    return _is_loopback(address[0]) or (address[0] in ("localhost", b"localhost"))


def _connect(self, address):
    if not _address_allowed(self, address):
        raise OutsideNetworkError(_record("connect", f"{address[0]}:{address[1]}"))
    return real["connect"](self, address)


def _connect_ex(self, address):
    if not _address_allowed(self, address):
        raise OutsideNetworkError(_record("connect", f"{address[0]}:{address[1]}"))
    return real["connect_ex"](self, address)


def _sendto(self, data, *args):
    address = args[-1]  # sendto(data, address) or sendto(data, flags, address): a datagram, DNS by hand included
    if not _address_allowed(self, address):
        raise OutsideNetworkError(_record("datagram", f"{address[0]}:{address[1]}"))
    return real["sendto"](self, data, *args)


def _getaddrinfo(host, *args, **kwargs):
    if not _local_name(host):
        raise socket.gaierror(socket.EAI_NONAME, _record("look-up", str(host)))
    return real["getaddrinfo"](host, *args, **kwargs)


def _gethostbyname(host):
    if not _local_name(host):
        raise socket.gaierror(socket.EAI_NONAME, _record("look-up", str(host)))
    return real["gethostbyname"](host)


def _gethostbyname_ex(host):
    if not _local_name(host):
        raise socket.gaierror(socket.EAI_NONAME, _record("look-up", str(host)))
    return real["gethostbyname_ex"](host)


def install() -> None:
    """Puts the guard in front of the socket module's connect and look-up functions (once per process)."""
    if real:
        return
    real.update(
        connect=socket.socket.connect,
        connect_ex=socket.socket.connect_ex,
        sendto=socket.socket.sendto,
        getaddrinfo=socket.getaddrinfo,
        gethostbyname=socket.gethostbyname,
        gethostbyname_ex=socket.gethostbyname_ex,
    )
    reinstall()


def reinstall() -> None:
    """Puts the guard back in front, wherever something put other functions in its place.

    The test process calls it before each test: pytest-socket, for one, puts back after every test the
    ``socket.socket.connect`` it saw when it was loaded, which is the one from before the guard.
    """
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.socket.sendto = _sendto
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex


_OWN_NAMES = _own_names()
install()
