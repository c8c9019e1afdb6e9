"""Ed25519 keys for session tokens: auth signs with the private one, everyone verifies."""

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def generate_key_pair() -> tuple[str, str]:
    """A fresh Ed25519 pair as (private PEM, public PEM)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode(), public_pem.decode()


@functools.cache
def public_key(pem: str) -> Ed25519PublicKey:
    """Raises ValueError for anything but an Ed25519 public key in PEM form."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@functools.cache
def private_key(pem: str) -> Ed25519PrivateKey:
    """Raises ValueError for anything but an unencrypted Ed25519 private key in PEM form."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def env_lines(private_pem: str, public_pem: str) -> str:
    """JWT_PRIVATE_KEY and JWT_PUBLIC_KEY as one line each, line breaks written as \\n
    (settings turn them back), for a .env file, `docker --env-file` or a Secret literal."""

    def one_line(pem: str) -> str:
        return pem.strip().replace("\n", "\\n")

    return f"JWT_PRIVATE_KEY={one_line(private_pem)}\nJWT_PUBLIC_KEY={one_line(public_pem)}"
