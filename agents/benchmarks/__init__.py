"""Deliberately imperfect controllers: systems under test for judging search and estimation
(not reference agents; they fail where a careful controller would not)."""
