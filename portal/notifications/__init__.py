"""Notifications: event types, handler rules, templates, the log and sending (spec 09)."""
