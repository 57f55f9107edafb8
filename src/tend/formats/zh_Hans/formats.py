"""Simplified Chinese number formats where Tend's readers expect something other than
Django's: money and counts grouped by thousands with commas (¥1,234,567.89), as on
invoices and in finance software, instead of no grouping at all. Everything else
(dates, the decimal mark) comes from Django's zh_Hans formats."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
