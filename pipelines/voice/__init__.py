"""Voice analysis shared by the speech nodes: who is speaking (speaker embedding) and how (pitch, rate)."""
