-- The composite is exactly the documented weighted sum: each candidate's component points (as explained, rounded
-- to 1e-6 each) add up to their signal_score. Returns the candidates where they do not.
select candidate_ref, max(signal_score) as signal_score, sum(points) as sum_of_points
from {{ ref('fct_signal_score_components') }}
group by candidate_ref
having abs(sum(points) - max(signal_score)) > 0.0001
