"""The customer store (built in a later issue): own blueprints over the portal services."""
