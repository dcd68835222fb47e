"""The client panel's frame: sign-in, password reset, switching clients, the user's settings."""
