"""careerbot tests."""
