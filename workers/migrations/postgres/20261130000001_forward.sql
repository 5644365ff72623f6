-- Each expiry's forward (from put-call parity, docs/processing.md), the side of its strike a
-- volatility smile uses, and the contract's exercise style.
ALTER TABLE option_quotes
    ADD COLUMN forward  double precision,
    ADD COLUMN otm      boolean,
    ADD COLUMN exercise text NOT NULL DEFAULT 'american'
        CHECK (exercise IN ('american', 'european'));
