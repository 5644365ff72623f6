-- Each expiry's forward (from put-call parity, docs/processing.md), the side of its strike a
-- volatility smile uses, and the contract's exercise style.
ALTER TABLE option_quotes ADD COLUMN forward REAL;
ALTER TABLE option_quotes ADD COLUMN otm INTEGER;
ALTER TABLE option_quotes ADD COLUMN exercise TEXT NOT NULL DEFAULT 'american'
    CHECK (exercise IN ('american', 'european'));
