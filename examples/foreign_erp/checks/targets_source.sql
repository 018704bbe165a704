-- Sales targets per month in the source (per region), in cents.
SELECT
    printf('%04d-%02d', t.year, t.month)   AS month,
    SUM(t.amount_cents)                    AS target_cents
FROM targets t
GROUP BY 1
ORDER BY 1;
