"""Portal identity flows: email verification, password reset, invitations, login throttling."""
