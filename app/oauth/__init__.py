"""OAuth2 authorization server (Authlib): client credentials, authorization code with PKCE,
refresh tokens, revocation, introspection, metadata and RFC 9068 JWT access tokens."""
