"""Credentials unlike any other string of a run, so that a test can search logs, argv and
output for them: a v1 key and secret, a v2 OAuth token."""

API_KEY = "KEYzq7Vw3Lx9Pq2Rt"
API_SECRET = "SECRETm4Nb8Hj6Gf1Dk0Zs"
OAUTH_TOKEN = "TOKENr5Yc2Wq8Lm3Xv7Np"
