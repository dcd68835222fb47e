"""The catalogue: products, plans, provisioning rules, delegation and the price list."""
