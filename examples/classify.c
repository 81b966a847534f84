/* examples/classify.c — classifies images with a csg model through the C API.
 *
 *   classify MODEL IMAGE...     prints "IMAGE: CLASS (class ID, logit L)" per image
 *
 * Build against an installed csg: cc classify.c $(pkg-config --cflags --libs csg) */
#include <stdio.h>
#include <stdlib.h>

#include <csg/c_api.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  csg_model* model = NULL;
  if (csg_model_open(argv[1], NULL, &model) != CSG_OK) {
    fprintf(stderr, "error: %s\n", csg_last_error());
    return 1;
  }
  if (csg_model_task(model) != CSG_TASK_CLASSIFICATION) {
    fprintf(stderr, "error: %s is a segmentation model\n", argv[1]);
    csg_model_free(model);
    return 1;
  }
  const int n = argc - 2, classes = csg_model_num_classes(model);
  float* logits = malloc(sizeof(float) * (size_t)n * (size_t)classes);
  int* ids = malloc(sizeof(int) * (size_t)n);
  csg_status status = CSG_ERR_OUT_OF_MEMORY;
  if (logits && ids) status = csg_classify_files(model, (const char* const*)(argv + 2), n, logits, ids);
  if (status != CSG_OK) {
    fprintf(stderr, "error: %s\n", csg_last_error());
  } else {
    for (int i = 0; i < n; ++i)
      printf("%s: %s (class %d, logit %.4f)\n", argv[i + 2], csg_model_class_name(model, ids[i]), ids[i],
             logits[(size_t)i * (size_t)classes + (size_t)ids[i]]);
  }
  free(logits);
  free(ids);
  csg_model_free(model);
  return status == CSG_OK ? 0 : 1;
}
