"""Keys and signatures: Arweave RSA wallets and RSA-PSS. The only importer of `cryptography`."""
