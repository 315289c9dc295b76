"""Everything that looks at a face: detection, preprocessing, the emotion classifier; training, evaluation, export."""
