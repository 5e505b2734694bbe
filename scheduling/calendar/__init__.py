"""The Google Calendar mirror: appointments copied out, busy time read in.

Only ``google.py`` imports the Google SDK.
"""
