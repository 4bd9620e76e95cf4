# Sources of the visual (React Flow JSON) front end and writer.
