"""Operations on the control schema: init, check, rollout, history, rejects, the run log."""
