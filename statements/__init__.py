"""Monthly license statements, credits (transactions) and balances."""
