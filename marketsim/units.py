"""Units shared by every module: money in $bn, time in months.

Money is held in US$ billions everywhere (cash, revenue, offers); prices are quoted per unit
($/M tokens, $/GPU-month, $/GPU-hour). Multiply a dollar amount by :data:`BN_PER_USD` to get
$bn (a multiplication, not a division by 1e9, so every figure keeps the floats it has had).
"""

BN_PER_USD = 1e-9
"""$bn in one dollar: ``price ($/M tokens) × tokens (M) × BN_PER_USD`` is $bn."""

HOURS_PER_MONTH = 730.0
"""Hours in the model's month (8,760 / 12): converts $/GPU-hour to $/GPU-month."""
