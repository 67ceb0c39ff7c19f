"""The console: server-rendered pages for the organizer team, buyers and attendees.

A backend-for-frontend that owns no database: every page is drawn from the five
services' HTTP APIs, called with the signed-in staff member's own token, or with
the buyer's or attendee's link token.
"""
