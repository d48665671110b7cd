"""What a student is told about their own data, and the messages they send their school."""
