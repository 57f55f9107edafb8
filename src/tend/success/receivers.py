"""What customer success does when other apps report something (see apps.py)."""
