"""One module per external service the phone line uses; no SDK is imported anywhere else in the project."""
