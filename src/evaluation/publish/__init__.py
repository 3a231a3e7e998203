"""What a year publishes, computed and protected once, rendered alike by the reports and the exports:
the cohort release, the employment-gap series, the protected barometer, the exported tables."""
