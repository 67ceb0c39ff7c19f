"""ticketflow's event contracts: topics, the CloudEvents envelope and one model per event."""
