"""Clients, client types, service rules, additional parameters and client-panel users."""
