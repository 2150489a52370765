"""``tinct serve`` checks its address before loading the model: one-line errors that say what to do."""
from __future__ import annotations

import socket

import pytest

from tinct.cli.main import main


def test_a_port_in_use_is_one_line_before_the_model_loads(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tinct serve: port {port} is in use: try --port {port + 1}"]


def test_bad_host_and_port(capsys):
    assert main(["serve", "--host", "no-such-host.invalid"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--host" in err[0] and "try --host 127.0.0.1" in err[0]
    with pytest.raises(SystemExit) as e:
        main(["serve", "--port", "80000"])
    assert e.value.code == 2
    assert "80000 is not a port: give 1-65535" in capsys.readouterr().err
