"""KL terms: the KL regulariser, the KL weight shared by every layer with a KL term, and its schedules."""
