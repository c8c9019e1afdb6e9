from ticketing.auth.passwords import hash_password_sync, verify_password_sync


def test_a_password_verifies_against_its_own_hash_only():
    stored = hash_password_sync("correct horse")
    assert verify_password_sync("correct horse", stored)
    assert not verify_password_sync("correct horsE", stored)


def test_the_same_password_hashes_differently_each_time():
    assert hash_password_sync("same-password") != hash_password_sync("same-password")


def test_a_malformed_stored_hash_never_verifies():
    assert not verify_password_sync("anything", "not-a-hash")
