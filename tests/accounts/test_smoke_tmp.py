from tests.oidc import sign_in_through


def test_smoke(client, idp, db):
    idp.set_user("alice", email="a@example.jp", email_verified=True)
    r = sign_in_through(client, idp, "demo", "alice")
    print(r.status_code, r.headers, r.text[:2000])
    assert r.status_code == 303
