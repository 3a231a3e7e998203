"""The plan as data and its checks: the referential (plan), its audit, the territories, French labels."""
