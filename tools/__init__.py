"""Developer tools: capture synthesis (pcapgen), demo recording, goldens."""
