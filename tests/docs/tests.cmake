# Tests of the documentation: language reference examples, man pages.
