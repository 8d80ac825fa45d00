"""Certificates for the TLS tests, made at test time with the openssl command.

A CA, a server certificate for 127.0.0.1 (as an IP subjectAltName, which
Python's hostname check needs) and client certificates with a chosen CN,
all EC P-256 keys (quick to make), valid for a day.
"""
import os
import shutil
import subprocess

import pytest


def _openssl(*args, cwd):
    done = subprocess.run(["openssl", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args),
                                                      done.stdout.decode(errors="replace")))


class Certs:
    """``ca`` (PEM), ``server``/``server_key``, and ``client(cn)`` pairs,
    all files in ``dir``."""

    def __init__(self, dir):
        if shutil.which("openssl") is None:
            pytest.skip("no openssl command to make test certificates "
                        "(Debian: apt-get install openssl)")
        self.dir = dir
        self._clients = {}
        self.ca = os.path.join(dir, "ca.pem")
        self.ca_key = os.path.join(dir, "ca.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "1",
                 "-subj", "/CN=loom test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-addext", "subjectKeyIdentifier=hash", cwd=dir)
        self.server, self.server_key = self._issue(
            "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "extendedKeyUsage=serverAuth\n")

    def client(self, cn):
        """A client certificate and key whose subject CN is ``cn``."""
        if cn not in self._clients:
            self._clients[cn] = self._issue("client-" + cn, cn,
                                            "extendedKeyUsage=clientAuth\n")
        return self._clients[cn]

    def _issue(self, name, cn, ext):
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        pem = os.path.join(self.dir, name + ".pem")
        extfile = os.path.join(self.dir, name + ".ext")
        with open(extfile, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid:always\n" + ext)
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn, cwd=self.dir)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                 "-CAcreateserial", "-days", "1", "-extfile", extfile, "-out", pem,
                 cwd=self.dir)
        return pem, key
