"""What the checkin service does: its ticket projection, the gates' setup, scanning online and offline, the desk."""
