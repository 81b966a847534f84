/* csg/c_api.h — the C interface of libcsg: load a model once, classify or segment images
 * many times. Plain C99; no C++ type or exception crosses it.
 *
 *   csg_model* m = NULL;
 *   if (csg_model_open("model.safetensors", NULL, &m) != CSG_OK) {
 *     fprintf(stderr, "%s\n", csg_last_error());
 *     return 1;
 *   }
 *   csg_model_set_threads(m, 4);
 *   int id;
 *   const char* path = "cat.jpg";
 *   if (csg_classify_files(m, &path, 1, NULL, &id) == CSG_OK)
 *     printf("%s\n", csg_model_class_name(m, id));
 *   csg_model_free(m);
 *
 * Model files (see csg/infer.h): a file written by `csg export` / csg_export, a
 * checkpoint written by `csg train`, or a state dict (torchvision `.pth` or `.safetensors`) of
 * a ResNet-18/34/50/101 or of csg's DeepLab. Images: file paths (PNG, JPEG, BMP, ...) or RGB8
 * buffers. Classification models resize the shorter side and centre-crop as the model file
 * says; segmentation models take the image at its size or resize it to the model's input size.
 *
 * Errors: every function returning csg_status returns CSG_OK (0) on success; otherwise
 * csg_last_error() describes the failure (naming the file and the fix where there is one).
 * Nothing is written to the outputs of a failed call beyond what it had finished.
 * Threads: a csg_model may be used by one thread at a time; distinct models may run in
 * parallel. csg_last_error() is per thread.
 */
#ifndef CSG_C_API_H
#define CSG_C_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum csg_status {
  CSG_OK = 0,
  CSG_ERR_INVALID_ARGUMENT = 1, /* a null pointer, a count below 1, a bad device name ... */
  CSG_ERR_MODEL = 2,            /* the model file is missing, malformed, or not a supported network */
  CSG_ERR_IMAGE = 3,            /* an image file is missing or cannot be decoded, or sizes do not fit */
  CSG_ERR_DEVICE = 4,           /* the device is not usable (no GPU, or a build without CUDA) */
  CSG_ERR_OUT_OF_MEMORY = 5,
  CSG_ERR_WRONG_TASK = 6,       /* classify on a segmentation model or the other way round */
  CSG_ERR_INTERNAL = 7          /* anything else; the message says what */
} csg_status;

typedef enum csg_task { CSG_TASK_CLASSIFICATION = 0, CSG_TASK_SEGMENTATION = 1 } csg_task;

/* An RGB8 image: `height` rows of `width` pixels, 3 bytes each (R, G, B), rows `stride` bytes
 * apart (0 means width * 3). */
typedef struct csg_image {
  const uint8_t* rgb;
  int width, height, stride;
} csg_image;

/* A loaded model (opaque): the compiled inference network, its buffers and its settings. */
typedef struct csg_model csg_model;

/* The library version, "0.1.0". */
const char* csg_version(void);

/* The message of the last failed call on this thread ("" if none). Valid until the next call
 * into the library from this thread. */
const char* csg_last_error(void);

/* Loads `path` and compiles its network for the CPU. `arch` (may be NULL) must then match the
 * file's architecture ("resnet50", "deeplab101"...). On success *out receives the model. A file
 * whose checksums do not match (a damaged checkpoint or model file) is refused: CSG_ERR_MODEL,
 * and csg_last_error() names the file and the damaged part. */
csg_status csg_model_open(const char* path, const char* arch, csg_model** out);

/* Frees a model (NULL is allowed). */
void csg_model_free(csg_model* model);

/* Threads for this model's runs (OpenMP and OpenBLAS); n <= 0 restores the default: the calling
 * program's own OpenMP setting (every core, or OMP_NUM_THREADS, unless it set another). The
 * program's settings are back when a run returns. */
csg_status csg_model_set_threads(csg_model* model, int n);

/* The default of csg_model_set_max_image_pixels: PIL's limit (2 x 89,478,485). */
#define CSG_DEFAULT_MAX_IMAGE_PIXELS 178956970

/* The most pixels (width x height) an image file given to this model's csg_classify_files /
 * csg_segment_files may have. A larger one is refused from its header, before it is decoded:
 * CSG_ERR_IMAGE, and csg_last_error() names the file, its size and the limit. max_pixels <= 0
 * restores the default, CSG_DEFAULT_MAX_IMAGE_PIXELS. (Images passed as buffers are the
 * caller's memory already and are not limited.) */
csg_status csg_model_set_max_image_pixels(csg_model* model, int64_t max_pixels);

/* The convolutions' arithmetic: "f32" (the default) or "bf16" (BF16 inputs and weights, f32
 * accumulation; CPU only, with AVX512_BF16 or AMX: CSG_ERR_DEVICE and a message otherwise). */
csg_status csg_model_set_precision(csg_model* model, const char* precision);

/* Moves the model to "cpu" or "cuda" (the first GPU). */
csg_status csg_model_set_device(csg_model* model, const char* device);

/* What the model is: its task, number of classes, the name of class c (NULL when out of range),
 * and its architecture ("resnet50"). NULL model: -1 / NULL. */
int csg_model_task(const csg_model* model);
int csg_model_num_classes(const csg_model* model);
const char* csg_model_class_name(const csg_model* model, int c);
const char* csg_model_arch(const csg_model* model);

/* The size of the network input, and so of a segmentation map, for an image of width x height:
 * the crop for classification; for segmentation the model's fixed input size, or the image's. */
csg_status csg_model_input_size(const csg_model* model, int width, int height, int* out_width, int* out_height);

/* Classifies n images as one batch. `logits` (may be NULL) receives n * num_classes floats
 * (image-major), `class_ids` (may be NULL) n argmax class ids. */
csg_status csg_classify_images(csg_model* model, const csg_image* images, int n, float* logits, int* class_ids);
csg_status csg_classify_files(csg_model* model, const char* const* paths, int n, float* logits, int* class_ids);

/* Segments n images of one input size (see csg_model_input_size) as one batch. `labels`
 * (may be NULL) receives n label maps of out_height x out_width class ids, row-major;
 * `logits` (may be NULL) n * num_classes * out_height * out_width floats (NCHW). */
csg_status csg_segment_images(csg_model* model, const csg_image* images, int n, uint8_t* labels, float* logits);
csg_status csg_segment_files(csg_model* model, const char* const* paths, int n, uint8_t* labels, float* logits);

/* Reads the size of an image file without keeping its pixels. */
csg_status csg_image_size(const char* path, int* width, int* height);

/* Writes the inference network of `path` (any model file above, e.g. a `csg train` checkpoint)
 * as a csg-model safetensors file `out_path` with its metadata (arch, classes, preprocessing). */
csg_status csg_export(const char* path, const char* arch, const char* out_path);

#ifdef __cplusplus
}
#endif

#endif /* CSG_C_API_H */
