"""The student's own pages: what happens to my data, and a message to my school."""
