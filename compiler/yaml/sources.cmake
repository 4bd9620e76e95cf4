# Sources of the YAML front end and writer.
