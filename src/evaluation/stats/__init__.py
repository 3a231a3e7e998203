"""Statistics: target gaps, budget execution, the employment-rate gap, the barometer, cohorts and survival
(Kaplan-Meier, cumulative incidence), design-based survey estimates, impact estimates (difference-in-
differences, synthetic control), disclosure control."""
