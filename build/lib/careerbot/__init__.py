"""careerbot: answers questions about joining the French public service."""
